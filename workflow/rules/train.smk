rule train:
    input:
        data=dataset_files,
        code=rule_code,
    output:
        epochs="results/runs/{dataset}/{pair}/{rule}/epochs.csv",
        model="results/runs/{dataset}/{pair}/{rule}/model.pt",
        provenance="results/runs/{dataset}/{pair}/{rule}/provenance.json",
        rule_stats="results/runs/{dataset}/{pair}/{rule}/rule_stats.csv",
        alignment="results/runs/{dataset}/{pair}/{rule}/alignment.csv",
    log:
        "logs/train/{dataset}_{pair}_{rule}.log",
    benchmark:
        "results/benchmarks/train/{dataset}_{pair}_{rule}.tsv"
    conda:
        "../../environment.yml"
    # IRIS jobs are too small to gain from a second thread: two run side by side instead.
    threads: lambda w: 1 if w.dataset == "iris" else config["compute"]["threads"]
    # Measured (benchmarks/dag_speed.py, 2 CPU threads, 5 seeds): see README, Performance.
    resources:
        mem_mb=lambda w: 3000 if w.dataset != "iris" else 1500,
        runtime=lambda w: 15 if w.dataset != "iris" else 5,
        gpu=config["compute"]["gpus_per_job"],
    params:
        # Everything the job reads, nothing else: see gupta_stdp.config.train_params.
        job=lambda w: cfg.train_params(config, w.dataset, w.rule),
    script:
        "../../scripts/train.py"
