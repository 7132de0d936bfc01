module tapagent

go 1.24.0

require (
	github.com/gosnmp/gosnmp v1.47.0
	github.com/posteo/go-agentx v0.3.0
	github.com/sirupsen/logrus v1.10.2
)

require golang.org/x/sys v0.13.0 // indirect
