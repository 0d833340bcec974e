rule download:
    output:
        [str(f) for f in raw_files(DATA_ROOT, "{dataset}")],
    log:
        "logs/download/{dataset}.log",
    retries: 1
    conda:
        "../../environment.yml"
    params:
        source=lambda w: config["data"][w.dataset],
    script:
        "../../scripts/download.py"
