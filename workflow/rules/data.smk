# The download runs where Snakemake runs: compute nodes are often offline.
localrules:
    download,


rule download:
    output:
        [str(f) for f in raw_files(DATA_ROOT, "{dataset}")],
    log:
        "logs/download/{dataset}.log",
    retries: 1
    conda:
        "../../environment.yml"
    params:
        # What the files are (mirrors, timeout and retries only say where to get them).
        md5=lambda w: config["data"][w.dataset]["md5"],
    script:
        "../../scripts/download.py"
