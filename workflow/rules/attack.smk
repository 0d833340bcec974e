rule attack:
    input:
        data=dataset_files,
        models=expand(
            "results/runs/{dataset}/{pair}/{method}/model.pt",
            method=config["methods"],
            allow_missing=True,
        ),
    output:
        "results/runs/{dataset}/{pair}/attacks.csv",
    log:
        "logs/attack/{dataset}_{pair}.log",
    benchmark:
        "results/benchmarks/attack/{dataset}_{pair}.tsv"
    conda:
        "../../environment.yml"
    threads: config["compute"]["threads"]
    resources:
        mem_mb=lambda w: 3000 if w.dataset != "iris" else 1000,
        runtime=30,
        gpu=config["compute"]["gpus_per_job"],
    params:
        eps=config["attacks"]["fgsm"]["eps"],
        methods=config["methods"],
    script:
        "../../scripts/attack.py"
