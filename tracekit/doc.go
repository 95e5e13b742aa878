package tracekit
