rule aggregate:
    input:
        epochs=run_files("epochs.csv"),
        provenance=run_files("provenance.json"),
        rule_stats=run_files("rule_stats.csv"),
        attacks=attack_files(),
        diagnostics=attack_files("diagnostics.csv"),
    output:
        epochs="results/tables/epochs.csv",
        attacks="results/tables/attacks.csv",
        runs="results/tables/runs.csv",
        provenance="results/tables/provenance.json",
        diagnostics="results/tables/diagnostics.csv",
        rule_stats="results/tables/rule_stats.csv",
    log:
        "logs/aggregate.log",
    conda:
        "../../environment.yml"
    script:
        "../../scripts/aggregate.py"


rule claims:
    input:
        epochs=rules.aggregate.output.epochs,
        attacks=rules.aggregate.output.attacks,
    output:
        claims="results/tables/claims.csv",
        by_pair="results/tables/claims_by_pair.csv",
    log:
        "logs/claims.log",
    conda:
        "../../environment.yml"
    params:
        claims=config["claims"],
    script:
        "../../scripts/claims.py"
