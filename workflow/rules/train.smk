rule train:
    input:
        dataset_files,
    output:
        epochs="results/runs/{dataset}/{pair}/{method}/epochs.csv",
        model="results/runs/{dataset}/{pair}/{method}/model.pt",
        provenance="results/runs/{dataset}/{pair}/{method}/provenance.json",
    log:
        "logs/train/{dataset}_{pair}_{method}.log",
    benchmark:
        "results/benchmarks/train/{dataset}_{pair}_{method}.tsv"
    conda:
        "../../environment.yml"
    threads: config["compute"]["threads"]
    resources:
        mem_mb=lambda w: 3000 if w.dataset != "iris" else 1000,
        runtime=lambda w: 60 if w.dataset != "iris" else 20,
        gpu=config["compute"]["gpus_per_job"],
    params:
        job=job_params,
    script:
        "../../scripts/train.py"
