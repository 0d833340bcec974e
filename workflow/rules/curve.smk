# C4's evidence: the registry's STDP update evaluated where the paper derives eq. 6 from it
# (results/tables/stdp_curve.csv); claim C4 and Fig. 4 read it. It runs the rule's own code.
rule stdp_curve:
    input:
        code=code("curve", f"rules/{registry.module_name('stdp')}.py"),
    output:
        curve=TABLES["stdp_curve"],
    log:
        "logs/stdp_curve.log",
    conda:
        "../../environment.yml"
    # It goes to the cluster (it runs torch): time and memory grow with each retry.
    resources:
        mem_mb=lambda w, attempt: 1000 * attempt,
        runtime=lambda w, attempt: 5 * attempt,
    params:
        job=cfg.curve_params(config),
    script:
        "../../scripts/curve.py"
