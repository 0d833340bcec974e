rule sanity:
    input:
        attacks=TABLES["attacks"],
        examples=example_files(),
        code=code("sanity"),
    output:
        sanity="results/tables/sanity.csv",
    log:
        "logs/sanity.log",
    conda:
        "../../environment.yml"
    params:
        job=cfg.sanity_params(config),
    script:
        "../../scripts/sanity.py"


rule claims:
    input:
        epochs=TABLES["epochs"],
        attacks=TABLES["attacks"],
        sanity=rules.sanity.output.sanity,
        examples=example_files(),
        curve=TABLES["stdp_curve"],
        # with the multiverse on, claims.csv gains its columns (specs_*, verdict_tuned)
        specs=TABLES["spec_verdicts"] if config["multiverse"]["enabled"] else [],
        code=code("claims"),
    output:
        claims="results/tables/claims.csv",
        by_pair=TABLES["by_pair"],
        readings=TABLES["readings"],
        mcnemar="results/tables/mcnemar.csv",
    log:
        "logs/claims.log",
    conda:
        "../../environment.yml"
    params:
        job=cfg.claims_params(config),
    script:
        "../../scripts/claims.py"
