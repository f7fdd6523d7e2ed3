//! The tools, defined once and rendered for the Responses API and for Chat Completions.
//!
//! `abrir_ticket_crm` and `transferir_para_humano` keep the names, fields and Portuguese
//! descriptions our users configured on their assistants. The native tools work on the
//! helpdesk itself: ticket status by number, setor × motivo classification, internal note,
//! transfer to a queue.

use helpdesk_core::domain::catalogue::Catalogue;
use serde_json::{Value, json};

/// Name of the tool that opens a ticket in the tenant's external CRM with a summary and a
/// setor × motivo pair (`abrir_ticket_crm`).
pub const ABRIR_TICKET_CRM: &str = "abrir_ticket_crm";
/// Name of the tool that hands the conversation to a human: it notes the reason and moves the
/// ticket to the department's queue (`transferir_para_humano`).
pub const TRANSFERIR_PARA_HUMANO: &str = "transferir_para_humano";
/// Ticket status by number (for the current contact).
pub const CONSULTAR_TICKET: &str = "consultar_ticket";
/// Setor × motivo of the current ticket.
pub const CLASSIFICAR_TICKET: &str = "classificar_ticket";
/// Internal note on the current ticket.
pub const ADICIONAR_NOTA: &str = "adicionar_nota";
/// Transfer the current ticket to a queue.
pub const TRANSFERIR_FILA: &str = "transferir_fila";

/// How `abrir_ticket_crm` (and `classificar_ticket`) describe setor × motivo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PairSchema {
    /// The schema our users' assistants were configured with: `setor` is an enum, `motivo` a
    /// string checked by the dispatcher (an invalid pair comes back as an error listing the
    /// valid motivos).
    #[default]
    Flat,
    /// `classificacao` is an `anyOf` with one branch per setor whose `motivo` is that setor's
    /// enum: the model cannot express an invalid pair. Larger schema (the whole catalogue).
    Paired,
}

/// A function tool: name, description, strict parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolDef {
    /// Function name the model calls it by (`abrir_ticket_crm`).
    pub name: String,
    /// What it does and when to use it (read by the model).
    pub description: String,
    /// JSON Schema of the arguments (strict-mode subset).
    pub parameters: Value,
}

impl ToolDef {
    /// As a Responses API function tool.
    pub fn responses(&self) -> Value {
        json!({
            "type": "function",
            "name": self.name,
            "description": self.description,
            "parameters": self.parameters,
            "strict": true,
        })
    }

    /// As a Chat Completions `function` tool (`{"type": "function", "function": {…}}`).
    pub fn chat(&self) -> Value {
        json!({
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
                "strict": true,
            }
        })
    }
}

/// Which tools [`tool_set`] offers and how it describes setor × motivo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolOptions {
    /// Setor × motivo schema style.
    pub pairs: PairSchema,
    /// Offer `abrir_ticket_crm` (needs a CRM client in the dispatcher).
    pub crm: bool,
    /// Offer the native tools over the helpdesk.
    pub native: bool,
}

impl Default for ToolOptions {
    fn default() -> Self {
        ToolOptions {
            pairs: PairSchema::Flat,
            crm: true,
            native: true,
        }
    }
}

/// The tool set for a tenant's catalogue.
pub fn tool_set(catalogue: &Catalogue, opts: &ToolOptions) -> Vec<ToolDef> {
    let mut v = Vec::new();
    if opts.crm {
        v.push(abrir_ticket_crm(catalogue, opts.pairs));
    }
    v.push(transferir_para_humano(catalogue));
    if opts.native {
        v.push(consultar_ticket());
        v.push(classificar_ticket(catalogue, opts.pairs));
        v.push(adicionar_nota());
        v.push(transferir_fila());
    }
    v
}

/// Responses API `tools` array.
pub fn responses_tools(defs: &[ToolDef]) -> Value {
    Value::Array(defs.iter().map(ToolDef::responses).collect())
}

/// Chat Completions `tools` array.
pub fn chat_tools(defs: &[ToolDef]) -> Value {
    Value::Array(defs.iter().map(ToolDef::chat).collect())
}

const RESUMO_DESC: &str = "Resumo COMPLETO e CLARO do atendimento incluindo: (1) Nome do cliente, (2) Problema/solicitação relatada, (3) Resolução aplicada ou ação tomada. Exemplo: 'Cliente João solicitou desbloqueio. Verificado pagamento de R$ 150,00 referente à fatura 10/2025. Conexão desbloqueada com sucesso.'";
const MOTIVO_DESC: &str = "Motivo do atendimento COMPATÍVEL com o setor escolhido. Consulte a lista de combinações válidas na documentação interna. Exemplos para FINANCEIRO: INFORMAR PAGAMENTO, DESBLOQUEIO, PAGAMENTO. Para SUPORTE: SEM CONEXÃO, SEM INTERNET, LENTIDÃO.";
const ABRIR_DESC: &str = "Abre um ticket no sistema CRM para registrar formalmente o atendimento do cliente. \n\nUSE ESTA FUNÇÃO quando:\n- Cliente enviar comprovante de pagamento (para FINANCEIRO)\n- Cliente solicitar registro formal do atendimento\n- Necessário criar protocolo de atendimento\n- Após resolver problema técnico (para SUPORTE)\n\nNÃO USE para:\n- Transferências simples para humano (use transferir_para_humano)\n- Problemas não resolvidos (transfira primeiro)\n\nO sistema captura automaticamente o CPF/CNPJ da conversa - você NÃO precisa pedir novamente.";

fn setor_prop(catalogue: &Catalogue) -> Value {
    let names = catalogue.setor_names();
    json!({
        "type": "string",
        "description": format!("Setor responsável. Valores válidos: {}", names.join(", ")),
        "enum": names,
    })
}

/// The setor × motivo part of a schema: `(properties, required)` to merge into the root.
fn pair_props(catalogue: &Catalogue, style: PairSchema) -> Vec<(String, Value)> {
    match style {
        PairSchema::Flat => vec![
            ("setor".into(), setor_prop(catalogue)),
            (
                "motivo".into(),
                json!({"type": "string", "description": MOTIVO_DESC}),
            ),
        ],
        PairSchema::Paired => {
            let branches: Vec<Value> = catalogue
                .setores()
                .iter()
                .map(|s| {
                    json!({
                        "type": "object",
                        "properties": {
                            "setor": {"type": "string", "enum": [s.name]},
                            "motivo": {"type": "string", "enum": s.motivos},
                        },
                        "required": ["setor", "motivo"],
                        "additionalProperties": false,
                    })
                })
                .collect();
            vec![(
                "classificacao".into(),
                json!({
                    "description": "Setor responsável e motivo do atendimento: escolha uma combinação válida.",
                    "anyOf": branches,
                }),
            )]
        }
    }
}

fn object(props: Vec<(String, Value)>) -> Value {
    let required: Vec<&String> = props.iter().map(|(k, _)| k).collect();
    let required = json!(required);
    let map: serde_json::Map<String, Value> = props.into_iter().collect();
    json!({
        "type": "object",
        "properties": map,
        "required": required,
        "additionalProperties": false,
    })
}

/// `abrir_ticket_crm {resumo, setor, motivo}` (or `{resumo, classificacao}` with
/// [`PairSchema::Paired`]).
pub fn abrir_ticket_crm(catalogue: &Catalogue, style: PairSchema) -> ToolDef {
    let mut props = vec![(
        "resumo".to_owned(),
        json!({"type": "string", "description": RESUMO_DESC}),
    )];
    props.extend(pair_props(catalogue, style));
    ToolDef {
        name: ABRIR_TICKET_CRM.into(),
        description: ABRIR_DESC.into(),
        parameters: object(props),
    }
}

/// `transferir_para_humano {departamento, motivo}`.
pub fn transferir_para_humano(catalogue: &Catalogue) -> ToolDef {
    let deps: Vec<String> = catalogue
        .setor_names()
        .iter()
        .map(|s| s.to_lowercase())
        .collect();
    ToolDef {
        name: TRANSFERIR_PARA_HUMANO.into(),
        description: "Transfere a conversa para um atendente humano do departamento indicado. USE quando o problema não puder ser resolvido pela IA, quando o cliente pedir um humano, ou quando for preciso verificar algo manualmente (por exemplo, um comprovante de pagamento).".into(),
        parameters: object(vec![
            (
                "departamento".into(),
                json!({
                    "type": "string",
                    "description": format!("Departamento de destino. Valores válidos: {}", deps.join(", ")),
                    "enum": deps,
                }),
            ),
            (
                "motivo".into(),
                json!({"type": "string", "description": "Motivo da transferência, em uma frase, para o atendente que vai assumir."}),
            ),
        ]),
    }
}

/// `consultar_ticket {numero}`: status of one of the current contact's tickets.
pub fn consultar_ticket() -> ToolDef {
    ToolDef {
        name: CONSULTAR_TICKET.into(),
        description: "Consulta a situação de um ticket do cliente desta conversa pelo número do protocolo interno.".into(),
        parameters: object(vec![(
            "numero".into(),
            json!({"type": "integer", "description": "Número do ticket (sem #).", "minimum": 1}),
        )]),
    }
}

/// `classificar_ticket {setor, motivo}` on the current ticket.
pub fn classificar_ticket(catalogue: &Catalogue, style: PairSchema) -> ToolDef {
    ToolDef {
        name: CLASSIFICAR_TICKET.into(),
        description: "Classifica o ticket desta conversa por setor e motivo (encaminha para a fila do setor).".into(),
        parameters: object(pair_props(catalogue, style)),
    }
}

/// `adicionar_nota {texto}`: internal note, never sent to the customer.
pub fn adicionar_nota() -> ToolDef {
    ToolDef {
        name: ADICIONAR_NOTA.into(),
        description: "Adiciona uma nota interna ao ticket desta conversa (visível só para a equipe, nunca enviada ao cliente).".into(),
        parameters: object(vec![(
            "texto".into(),
            json!({"type": "string", "description": "Texto da nota."}),
        )]),
    }
}

/// `transferir_fila {fila, motivo}`: move the current ticket to a queue by name.
pub fn transferir_fila() -> ToolDef {
    ToolDef {
        name: TRANSFERIR_FILA.into(),
        description:
            "Transfere o ticket desta conversa para outra fila de atendimento, pelo nome da fila."
                .into(),
        parameters: object(vec![
            (
                "fila".into(),
                json!({"type": "string", "description": "Nome da fila de destino."}),
            ),
            (
                "motivo".into(),
                json!({"type": ["string", "null"], "description": "Motivo da transferência (opcional)."}),
            ),
        ]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{check_strict, valid_name};

    #[test]
    fn every_tool_in_every_style_obeys_strict_mode() {
        let c = Catalogue::default();
        for pairs in [PairSchema::Flat, PairSchema::Paired] {
            for def in tool_set(
                &c,
                &ToolOptions {
                    pairs,
                    crm: true,
                    native: true,
                },
            ) {
                assert!(valid_name(&def.name), "{}", def.name);
                assert_eq!(
                    check_strict(&def.parameters),
                    vec![],
                    "{} ({pairs:?})",
                    def.name
                );
            }
        }
    }

    #[test]
    fn seed_names_fields_and_enum_are_kept() {
        let c = Catalogue::default();
        let t = abrir_ticket_crm(&c, PairSchema::Flat);
        assert_eq!(t.name, "abrir_ticket_crm");
        assert_eq!(
            t.parameters["required"],
            json!(["resumo", "setor", "motivo"])
        );
        assert_eq!(
            t.parameters["properties"]["setor"]["enum"],
            json!([
                "ADMINISTRAÇÃO",
                "SUPORTE",
                "FINANCEIRO",
                "COMERCIAL",
                "RECEPÇÃO",
                "COBRANÇA",
                "TÉCNICO",
                "OUVIDORIA",
                "LOCAÇÃO"
            ])
        );
        assert!(t.description.starts_with("Abre um ticket no sistema CRM"));
        let h = transferir_para_humano(&c);
        assert_eq!(h.parameters["required"], json!(["departamento", "motivo"]));
        let r = t.responses();
        assert_eq!(
            (r["type"].as_str(), r["strict"].as_bool()),
            (Some("function"), Some(true))
        );
        assert_eq!(t.chat()["function"]["name"], "abrir_ticket_crm");
        let p = abrir_ticket_crm(&c, PairSchema::Paired);
        let branches = p.parameters["properties"]["classificacao"]["anyOf"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(branches, 9, "one branch per setor");
    }
}
