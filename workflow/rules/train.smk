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
    # Measured (benchmarks/dag_speed.py, 2 CPU threads, 5 seeds): see README, Performance. Time and
    # memory grow with each retry (scaled); a GPU only when the config asks for one (GPU).
    resources:
        **GPU,
        mem_mb=scaled(3000, 1500),
        runtime=scaled(15, 5),
    params:
        # Everything the job reads, nothing else: see gupta_stdp.config.train_params.
        job=lambda w: cfg.train_params(config, w.dataset, w.rule),
    script:
        "../../scripts/train.py"
