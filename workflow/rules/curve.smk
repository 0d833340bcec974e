# C4's evidence: the registry's STDP update evaluated where the paper derives eq. 6 from it
# (results/tables/stdp_curve.csv); claim C4 and Fig. 4 read it. It runs the rule's own code.
rule stdp_curve:
    input:
        code=code("curve", "rules/stdp.py"),
    output:
        curve=TABLES["stdp_curve"],
    log:
        "logs/stdp_curve.log",
    conda:
        "../../environment.yml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        job=cfg.curve_params(config),
    script:
        "../../scripts/curve.py"
