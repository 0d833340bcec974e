# One rule draws every figure of workflow/report/figures.yaml; the package module that draws it is
# an input, so editing the drawing code reruns the figures and the report, and nothing upstream.
rule figure:
    input:
        unpack(figure_inputs),
    output:
        report(
            "results/figures/{figure}.png",
            caption="../report/figure.rst",
            category="Figures",
            labels={"figure": "{figure}"},
        ),
    log:
        "logs/figures/{figure}.log",
    conda:
        "../../environment.yml"
    params:
        caption=figure_caption,
        options=figure_options,
    script:
        "../../scripts/figures.py"
