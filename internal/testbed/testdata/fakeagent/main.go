// Command fakeagent is a stand-in for tapagent in the test bed's own tests:
// it takes tapagent's flags, connects to snmpd over AgentX with go-agentx,
// registers CISCO-TAP2-MIB and serves one object under it.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	agentx "github.com/posteo/go-agentx"
	"github.com/posteo/go-agentx/pdu"
	"github.com/posteo/go-agentx/value"
)

func main() {
	addr := flag.String("agentx", "", "unix:PATH or tcp:HOST:PORT")
	flag.String("log-level", "info", "ignored")
	flag.Bool("log-json", false, "ignored")
	flag.Parse()
	network, address, ok := strings.Cut(*addr, ":")
	if !ok {
		fmt.Fprintln(os.Stderr, "fakeagent: --agentx needs unix:PATH or tcp:HOST:PORT")
		os.Exit(2)
	}
	client, err := agentx.Dial(network, address, agentx.WithTimeout(5*time.Second),
		agentx.WithReconnectInterval(time.Second))
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakeagent:", err)
		os.Exit(1)
	}
	handler := &agentx.ListHandler{}
	item := handler.Add("1.3.6.1.4.1.9.9.399.1.1.1.0")
	item.Type = pdu.VariableTypeInteger
	item.Value = int32(42)
	session, err := client.Session(value.MustParseOID("1.3.6.1.4.1.9.9.399"), "fakeagent", handler)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakeagent:", err)
		os.Exit(1)
	}
	if err := session.Register(127, value.MustParseOID("1.3.6.1.4.1.9.9.399")); err != nil {
		fmt.Fprintln(os.Stderr, "fakeagent:", err)
		os.Exit(1)
	}
	fmt.Println("fakeagent: registered 1.3.6.1.4.1.9.9.399")
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	fmt.Println("fakeagent: stopping")
	session.Close()
	client.Close()
}
