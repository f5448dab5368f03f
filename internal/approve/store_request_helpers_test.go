package approve

func storeRequest() *Request {
	return &Request{
		Store: &StoreAsk{Name: "SLACK_TOKEN", Purpose: "post the release notes"},
		Chain: []Proc{{PID: 42, Exe: "/usr/bin/node", Comm: "node"}},
	}
}
