# The multiverse's verdicts (SPEC 6b): the specifications' table from its train and attack jobs'
# results, each claim's verdict per specification and with each method tuned on validation data.
# Apart from multiverse.smk, so that a rebuild from a results bundle (which runs no train or attack
# job) judges the bundle's multiverse again.
rule multiverse:
    input:
        scores=multiverse_files("scores.csv"),
        attacks=multiverse_pair_files("attacks.csv"),
        code=code("multiverse"),
    output:
        specifications=TABLES["specifications"],
        verdicts=TABLES["spec_verdicts"],
        tuned=TABLES["spec_tuned"],
    log:
        "logs/multiverse.log",
    conda:
        "../../environment.yml"
    params:
        job=cfg.spec_claims_params(config),
    script:
        "../../scripts/multiverse.py"
