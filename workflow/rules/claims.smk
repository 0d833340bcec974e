rule sanity:
    input:
        attacks=TABLES["attacks"],
        examples=pair_files("examples.npz"),
        code=code("sanity.py", "examples.py"),
    output:
        sanity="results/tables/sanity.csv",
    log:
        "logs/sanity.log",
    conda:
        "../../environment.yml"
    script:
        "../../scripts/sanity.py"


rule claims:
    input:
        epochs=TABLES["epochs"],
        attacks=TABLES["attacks"],
        sanity=rules.sanity.output.sanity,
        examples=pair_files("examples.npz"),
        code=code("claims.py", "stats.py", "sanity.py", "curves.py", "examples.py"),
    output:
        claims="results/tables/claims.csv",
        by_pair=TABLES["by_pair"],
        mcnemar="results/tables/mcnemar.csv",
    log:
        "logs/claims.log",
    conda:
        "../../environment.yml"
    params:
        job=cfg.claims_params(config),
    script:
        "../../scripts/claims.py"
