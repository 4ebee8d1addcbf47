from vnsearch.cli import main

main()
