// Starts GraphiQL against the gateway that served the page. A file of its own, not an
// inline script, so that the page's content-security policy can forbid inline scripts.
const fetcher = GraphiQL.createFetcher({ url: window.location.pathname });
ReactDOM.createRoot(document.getElementById('graphiql')).render(
  React.createElement(GraphiQL, { fetcher }),
);
