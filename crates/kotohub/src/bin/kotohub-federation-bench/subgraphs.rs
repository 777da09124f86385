//! The four subgraphs of the classic federation workload, on async-graphql with static
//! data in memory: `accounts` (users), `products` (the top products), `reviews` (reviews,
//! with `@provides` on a review's author's username) and `inventory` (stock, and a
//! shipping estimate that `@requires` a product's price and weight from `products`).
//! They do no I/O, so what the benchmark measures is the gateway in front of them.

use std::net::SocketAddr;
use std::sync::LazyLock;

use async_graphql::{
    EmptyMutation, EmptySubscription, ID, Object, SDLExportOptions, Schema, SimpleObject,
};
use axum::Router;
use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::post;

/// The subgraphs' names, in the order their ports follow the first.
pub const NAMES: [&str; 4] = ["accounts", "products", "reviews", "inventory"];

const USERS: usize = 10;
const PRODUCTS: usize = 10;
const REVIEWS_PER_PRODUCT: usize = 3;

struct Data {
    users: Vec<User>,
    products: Vec<Product>,
    /// (id, body, author index, product index)
    reviews: Vec<(String, String, usize, usize)>,
}

static DATA: LazyLock<Data> = LazyLock::new(|| {
    let users = (0..USERS)
        .map(|i| User {
            id: ID(format!("{}", i + 1)),
            name: Some(format!("User {}", i + 1)),
            username: Some(format!("@user{}", i + 1)),
            birthday: Some(1_990 + i as i32),
        })
        .collect();
    let products = (0..PRODUCTS)
        .map(|i| Product {
            upc: format!("{}", i + 1),
            name: Some(format!("Product {}", i + 1)),
            price: Some(100 * (i as i32 + 1) + 99),
            weight: Some(10 * (i as i32 % 4 + 1)),
        })
        .collect();
    let reviews = (0..PRODUCTS * REVIEWS_PER_PRODUCT)
        .map(|i| {
            (
                format!("{}", i + 1),
                format!(
                    "Review {} of product {}: as described",
                    i + 1,
                    i % PRODUCTS + 1
                ),
                (i * 7) % USERS,
                i % PRODUCTS,
            )
        })
        .collect();
    Data {
        users,
        products,
        reviews,
    }
});

#[derive(SimpleObject, Clone)]
struct User {
    id: ID,
    name: Option<String>,
    #[graphql(shareable)]
    username: Option<String>,
    birthday: Option<i32>,
}

struct AccountsQuery;

// A subgraph's root type must be called Query for composition.
#[Object(name = "Query")]
impl AccountsQuery {
    async fn me(&self) -> Option<User> {
        DATA.users.first().cloned()
    }

    async fn user(&self, id: ID) -> Option<User> {
        DATA.users.iter().find(|u| u.id == id).cloned()
    }

    async fn users(&self) -> Vec<User> {
        DATA.users.clone()
    }

    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> Option<User> {
        DATA.users.iter().find(|u| u.id == id).cloned()
    }
}

#[derive(SimpleObject, Clone)]
struct Product {
    upc: String,
    name: Option<String>,
    price: Option<i32>,
    weight: Option<i32>,
}

struct ProductsQuery;

#[Object(name = "Query")]
impl ProductsQuery {
    async fn top_products(&self, #[graphql(default = 5)] first: i32) -> Vec<Product> {
        let first = usize::try_from(first).unwrap_or(0);
        DATA.products.iter().take(first).cloned().collect()
    }

    #[graphql(entity)]
    async fn find_product_by_upc(&self, upc: String) -> Option<Product> {
        DATA.products.iter().find(|p| p.upc == upc).cloned()
    }
}

/// A review, by its index in the data.
struct Review(usize);

#[Object]
impl Review {
    async fn id(&self) -> ID {
        ID(DATA.reviews[self.0].0.clone())
    }

    async fn body(&self) -> Option<String> {
        Some(DATA.reviews[self.0].1.clone())
    }

    #[graphql(provides = "username")]
    async fn author(&self) -> Option<ReviewedUser> {
        Some(ReviewedUser(DATA.reviews[self.0].2))
    }

    async fn product(&self) -> Option<ReviewedProduct> {
        Some(ReviewedProduct(DATA.reviews[self.0].3))
    }
}

/// A user as the reviews subgraph knows them: by index.
struct ReviewedUser(usize);

#[Object(name = "User")]
impl ReviewedUser {
    async fn id(&self) -> ID {
        DATA.users[self.0].id.clone()
    }

    #[graphql(external)]
    async fn username(&self) -> Option<String> {
        DATA.users[self.0].username.clone()
    }

    async fn reviews(&self) -> Vec<Review> {
        (0..DATA.reviews.len())
            .filter(|&r| DATA.reviews[r].2 == self.0)
            .map(Review)
            .collect()
    }
}

/// A product as the reviews subgraph knows it: by index.
struct ReviewedProduct(usize);

#[Object(name = "Product")]
impl ReviewedProduct {
    async fn upc(&self) -> String {
        DATA.products[self.0].upc.clone()
    }

    async fn reviews(&self) -> Vec<Review> {
        (0..DATA.reviews.len())
            .filter(|&r| DATA.reviews[r].3 == self.0)
            .map(Review)
            .collect()
    }
}

struct ReviewsQuery;

#[Object(name = "Query")]
impl ReviewsQuery {
    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> Option<ReviewedUser> {
        DATA.users.iter().position(|u| u.id == id).map(ReviewedUser)
    }

    #[graphql(entity)]
    async fn find_product_by_upc(&self, upc: String) -> Option<ReviewedProduct> {
        DATA.products
            .iter()
            .position(|p| p.upc == upc)
            .map(ReviewedProduct)
    }

    #[graphql(entity)]
    async fn find_review_by_id(&self, id: ID) -> Option<Review> {
        DATA.reviews.iter().position(|r| r.0 == id.0).map(Review)
    }
}

/// A product as the inventory knows it, with the price and weight the gateway brought.
struct StockedProduct {
    upc: String,
    price: Option<i32>,
    weight: Option<i32>,
}

#[Object(name = "Product")]
impl StockedProduct {
    async fn upc(&self) -> &str {
        &self.upc
    }

    #[graphql(external)]
    async fn price(&self) -> Option<i32> {
        self.price
    }

    #[graphql(external)]
    async fn weight(&self) -> Option<i32> {
        self.weight
    }

    async fn in_stock(&self) -> Option<bool> {
        Some(!self.upc.ends_with('3'))
    }

    #[graphql(requires = "price weight")]
    async fn shipping_estimate(&self) -> Option<i32> {
        // Free over 1000, else half the weight.
        let price = self.price?;
        Some(if price > 1_000 { 0 } else { self.weight? / 2 })
    }
}

struct InventoryQuery;

#[Object(name = "Query")]
impl InventoryQuery {
    #[graphql(entity)]
    async fn find_product_by_upc(
        &self,
        #[graphql(key)] upc: String,
        price: Option<i32>,
        weight: Option<i32>,
    ) -> StockedProduct {
        StockedProduct { upc, price, weight }
    }
}

/// A subgraph's schema, type-erased so that the four can be served alike.
#[derive(Clone)]
enum Subgraph {
    Accounts(Schema<AccountsQuery, EmptyMutation, EmptySubscription>),
    Products(Schema<ProductsQuery, EmptyMutation, EmptySubscription>),
    Reviews(Schema<ReviewsQuery, EmptyMutation, EmptySubscription>),
    Inventory(Schema<InventoryQuery, EmptyMutation, EmptySubscription>),
}

impl Subgraph {
    fn named(name: &str) -> Option<Self> {
        let build = |query| Schema::build(query, EmptyMutation, EmptySubscription);
        Some(match name {
            "accounts" => Self::Accounts(
                Schema::build(AccountsQuery, EmptyMutation, EmptySubscription)
                    .enable_federation()
                    .finish(),
            ),
            "products" => Self::Products(build(ProductsQuery).enable_federation().finish()),
            "reviews" => Self::Reviews(
                Schema::build(ReviewsQuery, EmptyMutation, EmptySubscription)
                    .register_output_type::<Review>()
                    .enable_federation()
                    .finish(),
            ),
            "inventory" => Self::Inventory(
                Schema::build(InventoryQuery, EmptyMutation, EmptySubscription)
                    .enable_federation()
                    .finish(),
            ),
            _ => return None,
        })
    }

    async fn execute(&self, request: async_graphql::Request) -> async_graphql::Response {
        match self {
            Self::Accounts(schema) => schema.execute(request).await,
            Self::Products(schema) => schema.execute(request).await,
            Self::Reviews(schema) => schema.execute(request).await,
            Self::Inventory(schema) => schema.execute(request).await,
        }
    }

    fn sdl(&self) -> String {
        let options = SDLExportOptions::new().federation().compose_directive();
        match self {
            Self::Accounts(schema) => schema.sdl_with_options(options),
            Self::Products(schema) => schema.sdl_with_options(options),
            Self::Reviews(schema) => schema.sdl_with_options(options),
            Self::Inventory(schema) => schema.sdl_with_options(options),
        }
    }
}

/// The Federation v2 SDL of the subgraph `name`.
pub fn sdl(name: &str) -> Option<String> {
    Subgraph::named(name).map(|subgraph| subgraph.sdl())
}

/// Serves the four subgraphs on `first_port` and the three ports after it, in tasks of
/// their own; fails at once when a port is taken (by another run, say).
pub async fn serve(first_port: u16) -> anyhow::Result<()> {
    let mut servers = Vec::new();
    for (offset, name) in NAMES.iter().enumerate() {
        let subgraph = Subgraph::named(name).expect("every listed subgraph exists");
        let app = Router::new().route(
            "/graphql",
            post(move |body: Bytes| {
                let subgraph = subgraph.clone();
                async move {
                    let answer = match serde_json::from_slice::<async_graphql::Request>(&body) {
                        Ok(request) => subgraph.execute(request).await,
                        Err(error) => async_graphql::Response::from_errors(vec![
                            async_graphql::ServerError::new(error.to_string(), None),
                        ]),
                    };
                    let bytes = serde_json::to_vec(&answer).unwrap_or_default();
                    ([(header::CONTENT_TYPE, "application/json")], bytes).into_response()
                }
            }),
        );
        let port = first_port + offset as u16;
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
            .await
            .map_err(|e| {
                anyhow::anyhow!("the {name} subgraph cannot listen on port {port}: {e}")
            })?;
        servers.push(axum::serve(listener, app));
    }
    for server in servers {
        tokio::spawn(async move {
            if let Err(error) = server.await {
                eprintln!("a subgraph stopped: {error}");
            }
        });
    }
    Ok(())
}
