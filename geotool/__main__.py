from geotool.cli import main

main()
