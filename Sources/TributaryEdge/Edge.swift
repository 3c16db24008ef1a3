// The edge agent.
