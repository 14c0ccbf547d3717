from services.bulk.main import main

main()
