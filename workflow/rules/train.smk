rule train:
    input:
        dataset_files,
    output:
        epochs="results/runs/{dataset}/{pair}/{method}/epochs.csv",
        model="results/runs/{dataset}/{pair}/{method}/model.pt",
        provenance="results/runs/{dataset}/{pair}/{method}/provenance.json",
        rule_stats="results/runs/{dataset}/{pair}/{method}/rule_stats.csv",
    log:
        "logs/train/{dataset}_{pair}_{method}.log",
    benchmark:
        "results/benchmarks/train/{dataset}_{pair}_{method}.tsv"
    conda:
        "../../environment.yml"
    threads: config["compute"]["threads"]
    # Measured (benchmarks/dag_speed.py, 2 CPU threads, 5 seeds): MNIST-size pair 14-21 s and
    # 1.2 GB peak RSS; IRIS pair (1000 epochs) 8-10 s and 1.0 GB. Limits leave room for 5x.
    resources:
        mem_mb=lambda w: 2500 if w.dataset != "iris" else 1500,
        runtime=lambda w: 10 if w.dataset != "iris" else 5,
        gpu=config["compute"]["gpus_per_job"],
    params:
        job=job_params,
    script:
        "../../scripts/train.py"
