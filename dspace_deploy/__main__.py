from dspace_deploy.cli import main

main()
