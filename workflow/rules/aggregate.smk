rule aggregate:
    input:
        epochs=train_files("epochs.csv"),
        provenance=train_files("provenance.json"),
        rule_stats=train_files("rule_stats.csv"),
        alignment=train_files("alignment.csv"),
        examples=pair_files("examples.npz"),
        diagnostics=pair_files("diagnostics.csv"),
        code=code("jobs/aggregate.py", "io.py", "derived.py", "examples.py"),
    output:
        epochs=TABLES["epochs"],
        attacks=TABLES["attacks"],
        diagnostics=TABLES["diagnostics"],
        alignment=TABLES["alignment"],
        runs="results/tables/runs.csv",
        provenance="results/tables/provenance.json",
        rule_stats="results/tables/rule_stats.csv",
    log:
        "logs/aggregate.log",
    conda:
        "../../environment.yml"
    script:
        "../../scripts/aggregate.py"
