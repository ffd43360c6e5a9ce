from rtmm_opt.cli.main import main

raise SystemExit(main())
