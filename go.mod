module tapagent

go 1.24
