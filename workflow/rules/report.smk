rule report:
    input:
        unpack(figure_files),
        epochs=TABLES["epochs"],
        attacks=TABLES["attacks"],
        diagnostics=TABLES["diagnostics"],
        alignment=TABLES["alignment"],
        by_pair=TABLES["by_pair"],
        runs=rules.aggregate.output.runs,
        devices=rules.aggregate.output.devices,
        rule_stats=rules.aggregate.output.rule_stats,
        claims=rules.claims.output.claims,
        readings=rules.claims.output.readings,
        mcnemar=rules.claims.output.mcnemar,
        sanity=rules.sanity.output.sanity,
        # the multiverse's verdicts and tuned choices, when it ran
        multiverse=(
            [TABLES["spec_verdicts"], TABLES["spec_tuned"]]
            if config["multiverse"]["enabled"]
            else []
        ),
        code=code("report"),
        template=os.path.relpath(PKG / "templates/report.md.j2"),
        # the report states the schema's defaults (the data sources' md5): it reads the schema
        schema=os.path.relpath(cfg.SCHEMA),
    output:
        md="report/replication.md",
        html="report/replication.html",
    log:
        "logs/report.log",
    conda:
        "../../environment.yml"
    params:
        config=cfg.report_params(config),
        rebuilt=config["bundle"]["rebuild"],
        figures=[f.removeprefix("figure_") for f in figure_files()],
        benchmarks=bench_files(),
    script:
        "../../scripts/report.py"
