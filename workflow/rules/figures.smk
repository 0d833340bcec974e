# Each figure also depends on the package module that draws it, so editing the drawing code
# re-runs the figures and the report, and nothing upstream.
FIGURE_CODE = f"{workflow.basedir}/src/gupta_stdp/figures.py"


rule fig2_accuracy:
    input:
        table=rules.aggregate.output.epochs,
        code=FIGURE_CODE,
    output:
        report(
            "results/figures/fig2_accuracy.png",
            caption="../report/fig2.rst",
            category="Figures",
        ),
    log:
        "logs/figures/fig2.log",
    conda:
        "../../environment.yml"
    script:
        "../../scripts/figures.py"


rule fig3_fgsm:
    input:
        table=rules.aggregate.output.attacks,
        code=FIGURE_CODE,
    output:
        report(
            "results/figures/fig3_fgsm.png",
            caption="../report/fig3.rst",
            category="Figures",
        ),
    log:
        "logs/figures/fig3.log",
    conda:
        "../../environment.yml"
    script:
        "../../scripts/figures.py"


rule fig4_stdp_curve:
    input:
        code=FIGURE_CODE,
    output:
        report(
            "results/figures/fig4_stdp_curve.png",
            caption="../report/fig4.rst",
            category="Figures",
        ),
    log:
        "logs/figures/fig4.log",
    conda:
        "../../environment.yml"
    params:
        t_pre=config["claims"]["fig4_t_pre"],
        r=config["claims"]["fig4_range"],
    script:
        "../../scripts/figures.py"


rule fig5_robustness:
    input:
        table=rules.aggregate.output.attacks,
        code=FIGURE_CODE,
    output:
        report(
            "results/figures/fig5_robustness.png",
            caption="../report/fig5.rst",
            category="Figures",
        ),
    log:
        "logs/figures/fig5.log",
    conda:
        "../../environment.yml"
    script:
        "../../scripts/figures.py"


rule fig6_ablations:
    input:
        table=rules.aggregate.output.epochs,
        code=FIGURE_CODE,
    output:
        report(
            "results/figures/fig6_ablations.png",
            caption="../report/fig6.rst",
            category="Figures",
        ),
    log:
        "logs/figures/fig6.log",
    conda:
        "../../environment.yml"
    script:
        "../../scripts/figures.py"


rule fig7_diagnostics:
    input:
        table=rules.aggregate.output.diagnostics,
        code=FIGURE_CODE,
    output:
        report(
            "results/figures/fig7_diagnostics.png",
            caption="../report/fig7.rst",
            category="Figures",
        ),
    log:
        "logs/figures/fig7.log",
    conda:
        "../../environment.yml"
    script:
        "../../scripts/figures.py"
