package procnet

import (
	"net"
	"os"
	"slices"
	"testing"
)

// A listener of this process is seen as this process's, on its port; a
// port closed again is no one's.
func TestListeningSeesThisProcesssListener(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()
	heldPort := held.Addr().(*net.TCPAddr).Port
	me := os.Getpid()
	if !Listening(me, heldPort) || !Listened(heldPort) || !slices.Contains(ListeningPorts(me), heldPort) {
		t.Errorf("port %d held here: Listening %v, Listened %v, ListeningPorts %v",
			heldPort, Listening(me, heldPort), Listened(heldPort), ListeningPorts(me))
	}
	if Listening(me, closedPort) || Listened(closedPort) {
		t.Errorf("closed port %d: Listening %v, Listened %v", closedPort, Listening(me, closedPort), Listened(closedPort))
	}
	// The parent (go test) holds no listener of this process.
	if Listening(os.Getppid(), heldPort) {
		t.Errorf("port %d is seen as the parent's", heldPort)
	}
}
