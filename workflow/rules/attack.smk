rule attack:
    input:
        data=dataset_files,
        models=expand(RUN + "/model.pt", method=config["methods"], allow_missing=True),
    output:
        RUNS + "/attacks.csv",
    params:
        eps=config["attacks"]["fgsm"]["eps"],
        methods=config["methods"],
    log:
        "logs/attack/{dataset}_{pair}.log",
    benchmark:
        "results/benchmarks/attack/{dataset}_{pair}.tsv"
    threads: config["compute"]["threads"]
    resources:
        mem_mb=lambda w: 3000 if w.dataset != "iris" else 1000,
        runtime=30,
        gpu=config["compute"]["gpus_per_job"],
    conda:
        "../../environment.yml"
    script:
        "../../scripts/attack.py"
