from yachat.cli.main import main

raise SystemExit(main())
