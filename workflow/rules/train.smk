rule train:
    input:
        dataset_files,
    output:
        epochs=RUN + "/epochs.csv",
        model=RUN + "/model.pt",
        provenance=RUN + "/provenance.json",
    params:
        job=job_params,
    log:
        "logs/train/{dataset}_{pair}_{method}.log",
    benchmark:
        "results/benchmarks/train/{dataset}_{pair}_{method}.tsv"
    threads: config["compute"]["threads"]
    resources:
        mem_mb=lambda w: 3000 if w.dataset != "iris" else 1000,
        runtime=lambda w: 60 if w.dataset != "iris" else 20,
        gpu=config["compute"]["gpus_per_job"],
    conda:
        "../../environment.yml"
    script:
        "../../scripts/train.py"
