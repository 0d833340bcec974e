# Would another setting change the verdicts? (SPEC 6b; opt-in: multiverse.enabled.) One train job per
# (data set, pair, rule, batch size): every seed and learning rate (and STDP's bias handlings) in one
# population, training lengths as checkpoints; one attack job per pair; then the specifications'
# table, their verdicts by the claims' own rules, and each method tuned on validation data.
rule multiverse_train:
    input:
        data=dataset_files,
        code=multiverse_rule_code,
    output:
        checkpoints="results/multiverse/{dataset}/{pair}/{rule}/b{batch}/checkpoints.pt",
        scores="results/multiverse/{dataset}/{pair}/{rule}/b{batch}/scores.csv",
        provenance="results/multiverse/{dataset}/{pair}/{rule}/b{batch}/provenance.json",
    log:
        "logs/multiverse_train/{dataset}_{pair}_{rule}_b{batch}.log",
    benchmark:
        "results/benchmarks/multiverse_train/{dataset}_{pair}_{rule}_b{batch}.tsv"
    conda:
        "../../environment.yml"
    threads: lambda w: 1 if w.dataset == "iris" else config["compute"]["threads"]
    resources:
        **GPU,
        mem_mb=scaled(3000, 1500),
        runtime=scaled(30, 10),
    params:
        job=lambda w: cfg.spec_train_params(config, w.dataset, w.rule),
    script:
        "../../scripts/multiverse_train.py"


rule multiverse_attack:
    input:
        data=dataset_files,
        checkpoints=multiverse_checkpoints,
        code=code("multiverse_attack"),
    output:
        attacks="results/multiverse/{dataset}/{pair}/attacks.csv",
        provenance="results/multiverse/{dataset}/{pair}/attack.json",
    log:
        "logs/multiverse_attack/{dataset}_{pair}.log",
    benchmark:
        "results/benchmarks/multiverse_attack/{dataset}_{pair}.tsv"
    conda:
        "../../environment.yml"
    threads: lambda w: 1 if w.dataset == "iris" else config["compute"]["threads"]
    resources:
        **GPU,
        mem_mb=scaled(4000, 1500),
        runtime=scaled(30, 10),
    params:
        job=lambda w: cfg.spec_attack_params(config, w.dataset),
    script:
        "../../scripts/multiverse_attack.py"
