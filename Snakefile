# Gupta (2020) replication: download -> train -> attack, square -> aggregate -> sanity, claims -> figures -> report.
# `snakemake --cores all` runs the default grid of config/config.yaml (the paper's); see README.md.
from snakemake.utils import min_version

min_version("9.0")


# config/config.yaml holds the paper's grid (= the schema's defaults). A --configfile FILE replaces
# it rather than merging into it, so a demo config can drop datasets; keys FILE leaves out take the
# schema's defaults. --config KEY=VALUE overrides either.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


# From an unpacked results bundle (bundle.rebuild), the per-run results are given: no job makes them.
if not config["bundle"]["rebuild"]:

    include: "workflow/rules/data.smk"
    include: "workflow/rules/train.smk"
    include: "workflow/rules/attack.smk"
    include: "workflow/rules/square.smk"
    include: "workflow/rules/multiverse.smk"


include: "workflow/rules/aggregate.smk"
include: "workflow/rules/multiverse_verdicts.smk"
include: "workflow/rules/curve.smk"
include: "workflow/rules/claims.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/bundle.smk"


# Seconds of work each, and compute nodes are often offline: these run where Snakemake runs.
localrules:
    all,
    bundle,
    aggregate,
    sanity,
    claims,
    multiverse,
    figure,
    report,


# A known error (bad data, config, device, compiler) ends the console output with its message alone;
# its traceback stays in the job's log.
onerror:
    report_failures(log)


rule all:
    default_target: True
    input:
        rules.report.output,
