const apiToken = "{{ALNUM24}}";
let apiUrl = "https://api.example.com/{{ALNUM24}}";
const color = "{{HEX32}}";
var sessionSecret = `{{ALNUM24}}`;
const authToken = process.env.AUTH_TOKEN;
