# Runs at boot on the board: the node (node.py), or maintenance mode when the `maintenance`
# command asked for it or the board's button is held at power-up (maintenance.py, docs/wiring.md).
import maintenance

if maintenance.wanted():
    maintenance.main()
else:
    import node
    node.main()
