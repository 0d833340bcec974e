rule download:
    output:
        [str(f) for f in raw_files(DATA_ROOT, "{dataset}")],
    params:
        source=lambda w: config["data"][w.dataset],
    log:
        "logs/download/{dataset}.log",
    conda:
        "../../environment.yml"
    retries: 1
    script:
        "../../scripts/download.py"
