from bench.audit_bench import main

main()
