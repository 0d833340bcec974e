# The results bundle (`snakemake --cores 1 bundle`): everything the judgement and the figures need,
# with a manifest of checksums; scripts/unbundle.py unpacks it for a rebuild (bundle.rebuild).
rule bundle:
    input:
        runs=bundle_files(),
        tables=bundle_tables(),
        code=code("bundle"),
    output:
        bundle="results/bundle.tar.gz",
    log:
        "logs/bundle.log",
    conda:
        "../../environment.yml"
    params:
        config=cfg.report_params(config),
    script:
        "../../scripts/bundle.py"
