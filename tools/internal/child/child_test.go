package child

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// The test binary doubles as the child: with CHILD_SERVE_PORT set it
// serves on that port, or says the port is taken, as a server would.
func TestMain(m *testing.M) {
	if p := os.Getenv("CHILD_SERVE_PORT"); p != "" {
		ln, err := net.Listen("tcp", "127.0.0.1:"+p)
		if err != nil {
			fmt.Println("bind:", err)
			os.Exit(3)
		}
		_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "child") }))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func spec() Spec {
	return Spec{
		Name: "test child",
		Command: func(port int) *exec.Cmd {
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), "CHILD_SERVE_PORT="+strconv.Itoa(port))
			return cmd
		},
		PortTaken: func(out []byte) bool { return bytes.Contains(out, []byte("address already in use")) },
	}
}

// TestStartSkipsATakenPort: the first port tried is held by this process,
// so the child fails to bind it; Start tries the next, and the port it
// reports is the child's own, not this process's listener.
func TestStartSkipsATakenPort(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	freePort := free.Addr().(*net.TCPAddr).Port
	free.Close()
	heldPort := held.Addr().(*net.TCPAddr).Port
	if !Listened(heldPort) || !Listening(os.Getpid(), heldPort) || Listened(freePort) {
		t.Fatalf("port %d held by this process: Listened %v, Listening %v; closed port %d: Listened %v",
			heldPort, Listened(heldPort), Listening(os.Getpid(), heldPort), freePort, Listened(freePort))
	}
	ports := []int{heldPort, freePort}
	old := pickPort
	t.Cleanup(func() { pickPort = old })
	pickPort = func() int { p := ports[0]; ports = ports[1:]; return p }

	p, err := Start(t.Context(), spec())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Port != freePort {
		t.Fatalf("child on port %d, want %d (the held port was skipped)", p.Port, freePort)
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", p.Port))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, ok := p.CPUSeconds(); !ok {
		t.Error("no CPU time for a running child")
	}
	p.Close()
	if _, ok := p.CPUSeconds(); ok {
		t.Error("CPU time of a child that is gone")
	}
}

// TestStartReportsAChildThatDies: a child that exits for another reason
// is an error with its output, not a retry.
func TestStartReportsAChildThatDies(t *testing.T) {
	sp := spec()
	sp.Command = func(int) *exec.Cmd { return exec.Command("sh", "-c", "echo no java here; exit 1") }
	_, err := Start(t.Context(), sp)
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("no java here")) {
		t.Fatalf("err = %v, want the child's output", err)
	}
}
