# The score-based Square Attack on every model of one pair, on the subset points that the attack
# job's own suite left standing (read from its examples.npz): only its own settings rerun it.
rule square:
    input:
        data=dataset_files,
        models=expand(
            "results/runs/{{dataset}}/{{pair}}/{rule}/model.pt",
            rule=config["methods"],
        ),
        examples=rules.attack.output.examples,
        code=code("square"),
    output:
        examples="results/runs/{dataset}/{pair}/square.npz",
        provenance="results/runs/{dataset}/{pair}/square.json",
    log:
        "logs/square/{dataset}_{pair}.log",
    benchmark:
        "results/benchmarks/square/{dataset}_{pair}.tsv"
    conda:
        "../../environment.yml"
    threads: lambda w: 1 if w.dataset == "iris" else config["compute"]["threads"]
    resources:
        **GPU,
        mem_mb=scaled(3000, 1500),
        runtime=scaled(20, 5),
    params:
        job=lambda w: cfg.square_params(config, w.dataset),
    script:
        "../../scripts/square.py"
