rule attack:
    input:
        data=dataset_files,
        models=expand(
            "results/runs/{dataset}/{pair}/{method}/model.pt",
            method=config["methods"],
            allow_missing=True,
        ),
    output:
        attacks="results/runs/{dataset}/{pair}/attacks.csv",
        diagnostics="results/runs/{dataset}/{pair}/diagnostics.csv",
    log:
        "logs/attack/{dataset}_{pair}.log",
    benchmark:
        "results/benchmarks/attack/{dataset}_{pair}.tsv"
    conda:
        "../../environment.yml"
    threads: config["compute"]["threads"]
    # Measured: at most 5 s and 1.2 GB peak RSS per MNIST-size pair (FGSM, 5 seeds, 2 methods).
    resources:
        mem_mb=lambda w: 2500 if w.dataset != "iris" else 1500,
        runtime=5,
        gpu=config["compute"]["gpus_per_job"],
    params:
        attacks=config["attacks"],
        saturation=config["diagnostics"]["saturation"],
        methods=config["methods"],
    script:
        "../../scripts/attack.py"
