import TributaryFaultProxy
print("tributary-faultproxy: not built yet")
