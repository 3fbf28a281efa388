from rtmer.cli import main

raise SystemExit(main())
