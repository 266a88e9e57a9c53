import FlowEngine
