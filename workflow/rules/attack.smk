rule attack:
    input:
        data=dataset_files,
        models=expand(
            "results/runs/{{dataset}}/{{pair}}/{rule}/model.pt",
            rule=config["methods"],
        ),
        code=code(
            *ATTACK_CODE,
            "model.py",
            "metrics.py",
            "data.py",
            "pairs.py",
            "seeding.py",
            "examples.py",
            "jobs/attack.py",
        ),
    output:
        diagnostics="results/runs/{dataset}/{pair}/diagnostics.csv",
        examples="results/runs/{dataset}/{pair}/examples.npz",
    log:
        "logs/attack/{dataset}_{pair}.log",
    benchmark:
        "results/benchmarks/attack/{dataset}_{pair}.tsv"
    conda:
        "../../environment.yml"
    # IRIS jobs are too small to gain from a second thread: two run side by side instead.
    threads: lambda w: 1 if w.dataset == "iris" else config["compute"]["threads"]
    resources:
        mem_mb=lambda w: 4000 if w.dataset != "iris" else 1500,
        runtime=lambda w: 20 if w.dataset != "iris" else 5,
        gpu=config["compute"]["gpus_per_job"],
    params:
        job=lambda w: cfg.attack_params(config, w.dataset),
    script:
        "../../scripts/attack.py"
