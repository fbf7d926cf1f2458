# Runs at boot on the board: everything is in node.py.
import node

node.main()
