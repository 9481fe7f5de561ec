from fieldrec.cli import main

raise SystemExit(main())
