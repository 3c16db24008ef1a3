import TributaryEdge
print("tributary-edge: not built yet")
