from services.commerce.main import main

main()
