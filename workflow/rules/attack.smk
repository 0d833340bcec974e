# The gradient, noise and transfer attacks and PGD's convergence check, on every model of one pair.
# The Square Attack is a job of its own (square.smk): a Square setting reruns no PGD.
rule attack:
    input:
        data=dataset_files,
        models=expand(
            "results/runs/{{dataset}}/{{pair}}/{rule}/model.pt",
            rule=config["methods"],
        ),
        code=code("attack"),
    output:
        diagnostics="results/runs/{dataset}/{pair}/diagnostics.csv",
        examples="results/runs/{dataset}/{pair}/examples.npz",
        provenance="results/runs/{dataset}/{pair}/attack.json",
    log:
        "logs/attack/{dataset}_{pair}.log",
    benchmark:
        "results/benchmarks/attack/{dataset}_{pair}.tsv"
    conda:
        "../../environment.yml"
    # IRIS jobs are too small to gain from a second thread: two run side by side instead.
    threads: lambda w: 1 if w.dataset == "iris" else config["compute"]["threads"]
    resources:
        **GPU,
        mem_mb=scaled(4000, 1500),
        runtime=scaled(20, 5),
    params:
        job=lambda w: cfg.attack_params(config, w.dataset),
    script:
        "../../scripts/attack.py"
